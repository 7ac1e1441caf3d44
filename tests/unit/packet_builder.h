// The tests' name for the shared frame builder (lib/gen/gen.h).
#pragma once

#include "gen.h"

namespace triage::test {
using namespace triage::gen;
}  // namespace triage::test
