// lib/net: everything Triage knows about packet bytes — parsing into a
// PacketView with a named malformed reason, checksums, and flow hashing.
// No EAL dependency: workers, unit tests and fuzzers share this code.
#pragma once

#include "checksum.h"
#include "flow_hash.h"
#include "malformed.h"
#include "packet_view.h"
#include "parse.h"
