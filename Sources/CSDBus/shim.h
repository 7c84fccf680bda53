#ifndef CSDBUS_SHIM_H
#define CSDBUS_SHIM_H

// sd-bus, libsystemd's D-Bus client. No shims: the Swift layer (the DBus target) uses only its non-variadic calls
// (sd_bus_message_append_basic, open_container, read_basic, enter_container, peek_type, sd_bus_call_async,
// sd_bus_add_match_async), which Swift calls directly.
#include <systemd/sd-bus.h>

#endif
