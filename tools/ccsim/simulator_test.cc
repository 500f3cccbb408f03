#include "tools/ccsim/simulator.h"

#include "gtest/gtest.h"
