/* SPDX-License-Identifier: MIT */
/* The modlab command: everything but `data` is dispatched in Lua (lua/modlab/cli.lua). */
#include <string.h>

#include "cli/lua_host.h"
#include <modlab/modlab.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "data") == 0)
        return ml_data_main(argc - 1, argv + 1);
    return ml_lua_main(argc, argv);
}
