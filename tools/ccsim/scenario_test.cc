#include "tools/ccsim/scenario.h"

#include "gtest/gtest.h"
