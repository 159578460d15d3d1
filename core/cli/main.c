/* SPDX-License-Identifier: MIT */
/* The modlab command: every command is parsed and dispatched in Lua (lua/modlab/cli/);
 * `modlab data` comes back to C through ml_data_main. */
#include "cli/lua_host.h"

int main(int argc, char **argv)
{
    return ml_lua_main(argc, argv);
}
