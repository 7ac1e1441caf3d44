// lib/telemetry: the counters workers keep and the views of them an operator
// and the tests read (stats log, exit summary, JSON). No EAL dependency.
#pragma once

#include "counters.h"
#include "drop_reason.h"
#include "report.h"
