#pragma once
// Builds small ScenarioSpecs in C++ for model tests, without YAML. Defaults give a quiet world:
// every buyer self-sufficient unless given a supply row, no capability growth, no talent flows.

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::test {

class SpecBuilder {
 public:
  SpecBuilder(std::vector<std::string> countries, std::vector<std::string> sectors, int steps = 24) {
    spec_.name = "test";
    spec_.time.steps = steps;
    for (const std::string& id : countries) {
      CountrySpec country;
      country.id = id;
      country.name = id;
      country.talent = 1000.0;
      spec_.countries.push_back(country);
    }
    for (const std::string& id : sectors) {
      SectorSpec sector;
      sector.id = id;
      sector.name = id;
      sector.elasticity = 3.0;
      sector.adjustment = 0.2;
      sector.capacity_growth = 0.0;
      spec_.sectors.push_back(sector);
    }
    const std::size_t c = countries.size();
    const std::size_t s = sectors.size();
    for (CountrySpec& country : spec_.countries) {
      country.sector_weights.assign(s, 1.0 / static_cast<double>(s));
      country.attraction.assign(c, 0.0);
    }
    spec_.supply.assign(c * s * c, 0.0);
    for (std::size_t buyer = 0; buyer < c; ++buyer) {
      for (std::size_t sec = 0; sec < s; ++sec) spec_.supply[(buyer * s + sec) * c + buyer] = 1.0;
    }
    spec_.inputs.assign(s * s, 0.0);
    spec_.capability.assign(c * s, -1.0);  // -1: the initial domestic share, filled by build()
    spec_.price.assign(c * s, 1.0);
    spec_.trade_cost.assign(c * c, 1.0);
    spec_.distrust.assign(c * c, 0.0);
  }

  CountryId country(const std::string& id) const {
    for (std::size_t i = 0; i < spec_.countries.size(); ++i) {
      if (spec_.countries[i].id == id) return static_cast<CountryId>(i);
    }
    throw std::invalid_argument("unknown country " + id);
  }
  SectorId sector(const std::string& id) const {
    for (std::size_t i = 0; i < spec_.sectors.size(); ++i) {
      if (spec_.sectors[i].id == id) return static_cast<SectorId>(i);
    }
    throw std::invalid_argument("unknown sector " + id);
  }
  SectorSpec& sector_params(const std::string& id) {
    return spec_.sectors[static_cast<std::size_t>(sector(id))];
  }
  CountrySpec& country_params(const std::string& id) {
    return spec_.countries[static_cast<std::size_t>(country(id))];
  }
  ScenarioSpec& raw() { return spec_; }

  /// Replaces a buyer's row: origin id -> share.
  SpecBuilder& supply(const std::string& buyer, const std::string& sec,
                      const std::vector<std::pair<std::string, double>>& shares) {
    const CountryId b = country(buyer);
    const SectorId s = sector(sec);
    for (CountryId k = 0; k < spec_.country_count(); ++k) spec_.supply[spec_.supply_index(b, s, k)] = 0.0;
    for (const auto& [origin, share] : shares) spec_.supply[spec_.supply_index(b, s, country(origin))] = share;
    return *this;
  }
  SpecBuilder& capability(const std::string& c, const std::string& s, double value) {
    spec_.capability[spec_.cell_index(country(c), sector(s))] = value;
    return *this;
  }
  SpecBuilder& price(const std::string& k, const std::string& s, double value) {
    spec_.price[spec_.cell_index(country(k), sector(s))] = value;
    return *this;
  }
  SpecBuilder& trade_cost(const std::string& exporter, const std::string& importer, double value) {
    spec_.trade_cost[spec_.pair_index(country(exporter), country(importer))] = value;
    return *this;
  }
  SpecBuilder& input(const std::string& in, const std::string& out, double value) {
    spec_.inputs[spec_.input_index(sector(in), sector(out))] = value;
    return *this;
  }
  SpecBuilder& bloc(const std::string& id, const std::vector<std::string>& members) {
    BlocSpec bloc;
    bloc.id = id;
    for (const std::string& m : members) bloc.members.push_back(country(m));
    spec_.blocs.push_back(bloc);
    return *this;
  }

  /// Adds an event and returns its index; fields are set through event(index).
  int add_event(EventType type, const std::string& id, int at, std::vector<std::string> from = {},
                std::vector<std::string> to = {}, std::vector<std::string> sectors = {}) {
    EventSpec event;
    event.id = id;
    event.type = type;
    event.at_step = at;
    event.source = "assumption";
    for (const std::string& c : from) event.from.push_back(country(c));
    for (const std::string& c : to) event.to.push_back(country(c));
    for (const std::string& s : sectors) event.sectors.push_back(sector(s));
    spec_.events.push_back(event);
    return static_cast<int>(spec_.events.size()) - 1;
  }
  EventSpec& event(int index) { return spec_.events[static_cast<std::size_t>(index)]; }

  int export_control(const std::string& id, int at, const std::string& from, const std::string& to,
                     double intensity, double evasion = 0.0) {
    const int e = add_event(EventType::ExportControl, id, at, {from}, {to});
    event(e).intensity = intensity;
    event(e).evasion = evasion;
    return e;
  }
  int lift(const std::string& id, int at, int lifted) {
    const int e = add_event(EventType::Lift, id, at);
    event(e).lifted_event = lifted;
    return e;
  }

  ScenarioSpec build() const {
    ScenarioSpec out = spec_;
    for (CountryId c = 0; c < out.country_count(); ++c) {
      for (SectorId s = 0; s < out.sector_count(); ++s) {
        double& cap = out.capability[out.cell_index(c, s)];
        if (cap < 0.0) cap = out.supply[out.supply_index(c, s, c)];
      }
    }
    return out;
  }

 private:
  ScenarioSpec spec_;
};

}  // namespace techdep::test
