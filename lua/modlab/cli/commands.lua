-- SPDX-License-Identifier: MIT
-- Every command, option and argument of the modlab command line, as data. The parser
-- (cli/args.lua), `--help`, the modlab(1) man page and the bash and zsh completions
-- (cli/docs.lua) are all made from this one table, so they cannot drift apart.
--
-- A command: name ("run", or "sweep export" for a subcommand), summary (one line), about
-- (a paragraph), args (positionals: name, key, optional, many, complete), options, examples.
-- An option: long, short, arg (the value's name; none for a flag), key (default: long
-- without dashes, '-' as '_'), many (repeatable: a list), type ("int"), min, max, choices,
-- complete (how a shell completes the value: dir, file, lua, yaml, so, plugin, dataset).
local M = {}

M.about = "modlab is an experiment workbench for neural-network structure learning: recipes "
  .. "in Lua wire plugin layers, datasets and optimizers into experiments; sweeps run them "
  .. "over parameter grids on one machine or a Slurm cluster. Run without a command, it "
  .. "trains the built-in quickstart (a Fashion-MNIST MLP)."

M.global = {
  { long = "--plugin-path", arg = "DIRS", complete = "dir",
    help = "colon-separated plugin directories or .so files, searched first; a relative "
      .. "entry is taken from the current directory; directories or files others can "
      .. "write are refused unless MODLAB_ALLOW_INSECURE_PLUGINS=1" },
  { long = "--threads", arg = "N", type = "int", min = 1, max = 1024,
    help = "BLAS threads (default: OpenBLAS's own setting)" },
  { long = "--version", short = "-V", help = "print the versions and exit (as `modlab version`)" },
  { long = "--help", short = "-h", help = "this help" },
}

local SET = { long = "--set", arg = "KEY=VALUE", many = true,
  help = "a value for ml.arg(KEY) in the recipe, parsed as the type of ml.arg's default; "
    .. "repeat for more. A key no ml.arg has read when training starts is an error" }
local REPORT = { long = "--report", help = "also write report.html into each run directory" }
local SWEEP_REPORT = { long = "--report", help = "also write report.html into the sweep directory" }

M.commands = {
  { name = "run", summary = "run a recipe",
    about = "Runs RECIPE.lua, a Lua script that builds a model and trains it with ml.train or "
      .. "its own loop. Each ml.train makes a run directory, by default "
      .. "$MODLAB_RUNS/<name>-<utc time>/ (MODLAB_RUNS defaults to runs): config.json, "
      .. "metrics.jsonl, summary.json, model.safetensors and log.txt.",
    args = { { name = "RECIPE.lua", key = "recipe", optional = true, complete = "lua" } },
    options = {
      SET,
      { long = "--out", arg = "DIR", complete = "dir",
        help = "the parent of the run directories: each run goes into DIR/<name>-<utc "
          .. "time>/ (default $MODLAB_RUNS, else runs)" },
      { long = "--run-dir", arg = "DIR", complete = "dir",
        help = "write the run into exactly DIR (made if missing; it must hold no run "
          .. "already); for a recipe that trains once" },
      { long = "--resume", arg = "DIR", complete = "dir",
        help = "continue the stopped run in DIR from its last checkpoint, with the recipe "
          .. "and --set values of DIR/config.json" },
      REPORT,
      { long = "--verbose", short = "-v",
        help = "print the whole resolved configuration at the start, not its short form" },
    },
    examples = { "modlab run recipes/mlp.lua --set lr=0.05 --set epochs=5",
                 "modlab run recipes/mlp.lua --out /tmp/runs --report",
                 "modlab run --resume runs/mlp-20261207-101500" } },
  { name = "sweep", summary = "run a parameter sweep (W&B sweep files)",
    about = "Runs every trial of SWEEP.yaml (a W&B sweep file: grid or random search, "
      .. "hyperband early termination; see docs/SWEEPS.md), a worker pool on this machine or a Slurm job array. The sweep "
      .. "directory holds the plan, an append-only journal, results.csv and a directory "
      .. "per trial; given that directory, the sweep resumes.",
    args = { { name = "SWEEP.yaml|DIR", key = "file", complete = "yaml" } },
    subcommands = { "export", "plan", "pending" },
    options = {
      { long = "--jobs", short = "-j", arg = "N", type = "int", min = 1, max = 4096,
        help = "trials at a time (default: the sweep's modlab.workers, else 1)" },
      { long = "--resume", help = "continue the sweep in its directory (done trials are kept)" },
      { long = "--dry-run", short = "-n", help = "print the trials and run nothing" },
      { long = "--launcher", arg = "NAME", choices = { "local", "slurm" },
        help = "where trials run (default: the sweep's modlab.launcher, else local)" },
      { long = "--out", arg = "DIR", complete = "dir",
        help = "the sweep directory (default $MODLAB_RUNS/<sweep name>)" },
      { long = "--wait", help = "with --launcher slurm: wait for the jobs and write the results" },
      { long = "--quiet", short = "-q", help = "print no line per trial" },
      SWEEP_REPORT,
    },
    examples = { "modlab sweep recipes/mlp/lr.yaml -j 2",
                 "modlab sweep runs/lr --resume",
                 "modlab sweep recipes/mlp/lr.yaml --launcher slurm --wait" } },
  { name = "sweep export", summary = "print a sweep file as W&B writes it",
    about = "Prints SWEEP.yaml without modlab's own keys, for `wandb sweep`.",
    args = { { name = "SWEEP.yaml", key = "file", complete = "yaml" } },
    options = { { long = "--format", arg = "FORMAT", choices = { "wandb" },
                  help = "the format (wandb, the one there is)", required = true } },
    examples = { "modlab sweep export recipes/mlp/lr.yaml --format wandb > wandb.yaml" } },
  { name = "sweep plan", summary = "write a sweep directory and run nothing",
    about = "Writes the sweep directory (plan and journal) so that `modlab trial` can run "
      .. "its trials, e.g. as the tasks of a job array made by hand.",
    args = { { name = "SWEEP.yaml", key = "file", complete = "yaml" } },
    options = { { long = "--out", arg = "DIR", complete = "dir",
                  help = "the sweep directory (default $MODLAB_RUNS/<sweep name>)" } },
    examples = { "modlab sweep plan recipes/mlp/lr.yaml --out /scratch/lr" } },
  { name = "sweep pending", summary = "list a sweep's unfinished trial indices",
    about = "Prints the indices of the trials not yet done, comma-separated (for job arrays).",
    args = { { name = "DIR", key = "dir", complete = "dir" } },
    options = {},
    examples = { "sbatch --array=$(modlab sweep pending runs/lr) job.sh" } },
  { name = "trial", summary = "run one trial of a sweep",
    about = "Runs trial I of the sweep in SWEEP_DIR (made by `modlab sweep` or `sweep plan`); "
      .. "a trial already done does nothing. Slurm array tasks run this.",
    args = { { name = "SWEEP_DIR", key = "dir", complete = "dir" } },
    options = { { long = "--index", arg = "I", type = "int", min = 0, max = 1e9, required = true,
                  help = "the trial's index (0-based, as `sweep --dry-run` numbers them)" } },
    examples = { "modlab trial runs/lr --index 3" } },
  { name = "plugins", summary = "list the loaded plugins, or document one",
    about = "Lists every plugin entry found on the plugin path: kind, name, version, ABI "
      .. "and file.",
    args = {},
    options = {
      { long = "--describe", arg = "NAME", complete = "plugin",
        help = "document one entry: its summary and every option with type and default" },
      { long = "--names", help = "print only the entry names, one a line (for scripts)" },
    },
    examples = { "modlab plugins --describe linear" } },
  { name = "plugin", summary = "write or check an out-of-tree plugin (new, check)",
    about = "The plugin SDK; see modlab-plugin(1) and docs/PLUGINS.md.",
    subcommands = { "new", "check" }, args = {}, options = {} },
  { name = "plugin new", summary = "write a ready out-of-tree plugin project",
    about = "Writes NAME.c, a Makefile using pkg-config, a test and a recipe into DIR.",
    args = { { name = "NAME", key = "name" } },
    options = {
      { long = "--kind", arg = "KIND", choices = { "layer", "optimizer", "dataset", "router",
                                                    "transform" },
        required = true, help = "what the plugin provides" },
      { long = "--dir", arg = "DIR", complete = "dir", help = "where to write it (default ./NAME)" },
    },
    examples = { "modlab plugin new swish --kind layer" } },
  { name = "plugin check", summary = "run the conformance suite on a plugin",
    about = "Loads FILE.so and checks every entry against the ABI's contract (gradients, "
      .. "option handling, failure paths), each check in its own process.",
    args = { { name = "FILE.so", key = "file", complete = "so" } },
    options = {
      { long = "--with", arg = "DEPS", complete = "file",
        help = "colon-separated plugins the checked one needs loaded first" },
      { long = "--no-fork", help = "run the checks in this process (for a debugger)" },
    },
    examples = { "modlab plugin check ./swish.so" } },
  { name = "data", summary = "dataset manifests, downloads and the cache (list, fetch, verify)",
    about = "Datasets are described by manifests (datasets/NAME.yaml): files, URLs and "
      .. "hashes. Downloads are verified and cached in MODLAB_DATA_DIR.",
    subcommands = { "list", "fetch", "verify" }, args = {}, options = {} },
  { name = "data list", summary = "list the datasets, their files and what is cached",
    about = "Lists every manifest found and whether its files are in the cache.",
    args = {}, options = {}, examples = { "modlab data list" } },
  { name = "data fetch", summary = "download and verify datasets into the cache",
    about = "Downloads each dataset's files (MODLAB_MIRROR first) and checks their hashes.",
    args = { { name = "NAME", key = "names", many = true, complete = "dataset" } },
    options = {}, examples = { "modlab data fetch fashion-mnist" } },
  { name = "data verify", summary = "re-hash the cached files of datasets",
    about = "Checks each cached file of the datasets against its manifest's hash.",
    args = { { name = "NAME", key = "names", many = true, complete = "dataset" } },
    options = {}, examples = { "modlab data verify fashion-mnist" } },
  { name = "report", summary = "write report.html for runs or sweeps",
    about = "Writes DIR/report.html for each run or sweep directory: plots and tables in one "
      .. "file that opens offline.",
    args = { { name = "DIR", key = "dirs", many = true, complete = "dir" } },
    options = {}, examples = { "modlab report runs/lr" } },
  { name = "version", summary = "print the versions of modlab and its libraries",
    about = "Prints modlab's version and a JSON line with the ABI and library versions.",
    args = {}, options = {} },
  { name = "completion", summary = "print a shell completion script (bash, zsh)",
    about = "Prints the completion script for SHELL; `make install` installs both.",
    args = { { name = "SHELL", key = "shell", choices = { "bash", "zsh" } } },
    options = {}, examples = { 'eval "$(modlab completion bash)"' } },
  { name = "help", summary = "help for modlab or one command",
    about = "Prints the help of COMMAND (as `modlab COMMAND --help`), or modlab's.",
    args = { { name = "COMMAND", key = "command", optional = true, many = true,
               complete = "command" } },
    options = { { long = "--man", help = "print the modlab(1) man page source (roff)" } },
    examples = { "modlab help sweep" } },
}

M.env = {
  { "MODLAB_PLUGIN_PATH", "colon-separated absolute plugin directories, searched after "
    .. "--plugin-path and before the installed ones" },
  { "MODLAB_ALLOW_INSECURE_PLUGINS", "1 loads plugins from places others can write" },
  { "MODLAB_RUNS", "the default parent of run and sweep directories (default runs)" },
  { "MODLAB_DATA_DIR", "the dataset cache (default $XDG_CACHE_HOME/modlab, else ~/.cache/modlab)" },
  { "MODLAB_MIRROR", "a base URL tried before a manifest's own URLs" },
  { "MODLAB_OFFLINE", "1 allows only file:// downloads" },
  { "MODLAB_MANIFEST_PATH", "more directories of dataset manifests" },
  { "MODLAB_FETCH_LOW_SPEED_TIME", "seconds under 100 B/s after which a mirror is dropped (default 60)" },
  { "MODLAB_LOG", "debug, info, warn or error; debug also prints Lua tracebacks with errors" },
  { "MODLAB_VERBOSE", "1 prints the whole resolved configuration at a run's start (as run --verbose)" },
  { "MODLAB_SWEEP_ROWS", "rows of the sweep's summary table printed at its end (default 20)" },
  { "MODLAB_CHECK_TIMEOUT", "seconds one `modlab plugin check` may take (default 300)" },
  { "MODLAB_MODULAR_KERNEL", "avx2 keeps the modular layer's 256-bit kernel on AVX-512 CPUs" },
  { "MODLAB_SHARE_BUFFERS", "0 gives every layer its own gradient buffers (for comparison)" },
}

M.exit = {
  { "0", "success" },
  { "1", "the experiment failed: a recipe error, a failed run, a failed trial or check" },
  { "2", "bad usage: an unknown command or option, a bad value, a bad sweep file" },
  { "130", "interrupted (SIGINT); the run or sweep directory says so and can be resumed" },
}

M.files = {
  { "runs/<name>-<utc time>/", "a run directory: config.json, meta.json, metrics.jsonl, "
    .. "timing.jsonl, summary.json, model.safetensors, checkpoint.safetensors, log.txt" },
  { "runs/<sweep name>/", "a sweep directory: sweep.yaml, sweep.json, journal.jsonl, "
    .. "results.csv, trials/<id>/" },
  { "~/.cache/modlab/", "the dataset cache (MODLAB_DATA_DIR)" },
}

-- name -> command, every name, and the top-level names (for "did you mean" and completion).
M.by_name, M.names, M.top = {}, {}, {}
for _, c in ipairs(M.commands) do
  M.by_name[c.name] = c
  M.names[#M.names + 1] = c.name
  if not c.name:find(" ") then M.top[#M.top + 1] = c.name end
end

return M
