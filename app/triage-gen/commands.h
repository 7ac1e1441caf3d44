// triage-gen's DPDK commands (replay.cpp, drill.cpp).
#pragma once

namespace triage::gen {

// argv[0] is "replay"; EAL options, then "--", then replay's own.
int cmd_replay(int argc, char** argv);
// argv: the drill's own arguments; self is how triage-gen was invoked (to
// find the triage binary beside it).
int cmd_drill(int argc, char** argv, const char* self);

}  // namespace triage::gen
