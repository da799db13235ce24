#include "techdep/scenario/load_scenario.hpp"
