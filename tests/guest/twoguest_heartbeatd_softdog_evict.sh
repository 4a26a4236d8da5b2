#!/usr/bin/env bash
# twoguest_heartbeatd_softdog.sh with FK_CASE=evict: node 2 is evicted by an
# administrator while its daemon runs, and softdog resets guest b.
# Run by: scripts/testbed/two-guests --file target/debug/heartbeatd
#         --file target/debug/fencectl --file target/debug/qdisk
#         tests/guest/twoguest_heartbeatd_softdog_evict.sh
FK_CASE=evict
# shellcheck source=twoguest_heartbeatd_softdog.sh
. "$(dirname "$0")/twoguest_heartbeatd_softdog.sh"
