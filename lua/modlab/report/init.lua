-- SPDX-License-Identifier: MIT
-- `modlab report DIR`: DIR/report.html, one self-contained page (no network: the charting
-- library, Apache ECharts, the page's script and style and the data are all inlined; a
-- Content-Security-Policy forbids any fetch). The data comes from report_run.lua or
-- report_sweep.lua; the drawing is lua/report/report.js.
local files = require "modlab.report.files"
local json = require "modlab.util.json"

local M = {}

-- "run", "sweep" or nil: what `modlab run` and `modlab sweep` leave in a directory.
function M.kind(dir)
  if files.exists(dir .. "/sweep.json") then return "sweep" end
  if files.exists(dir .. "/metrics.jsonl") or files.exists(dir .. "/meta.json") then
    return "run"
  end
  return nil
end

-- The data as JSON that can sit inside a <script> element: '<' never appears raw (it can
-- only occur inside JSON strings, where \u003c means the same).
local function embeddable(value)
  return (json.encode(value):gsub("<", "\\u003c"))
end

local function page(data)
  local title = ("modlab %s %s"):format(data.kind, data.title)
  local esc = title:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                      ['"'] = "&quot;" })
  return table.concat({
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    -- Nothing may be fetched: scripts and styles are inline, images are data: URLs.
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<meta name=\"generator\" content=\"modlab report\">\n",
    "<title>", esc, "</title>\n<style>\n", require("modlab.report_css"), "</style>\n",
    "<script>\n", require("modlab.report_prelude"), "</script>\n",
    "<script>\n", require("modlab.report_echarts"), "\n</script>\n",
    "</head>\n<body>\n<div id=\"app\"></div>\n",
    "<script type=\"application/json\" id=\"modlab-data\">", embeddable(data), "</script>\n",
    "<script>\n", require("modlab.report_js"), "</script>\n</body>\n</html>\n",
  })
end

-- Write DIR/report.html. Returns the path, or nil, a message and an exit code (2: DIR is
-- not something modlab wrote; 1: it could not be read or written).
function M.write(dir)
  dir = dir:gsub("/+$", "")
  if dir == "" then dir = "/" end
  local kind = M.kind(dir)
  if not kind then
    local what = files.exists(dir) and "is neither a run directory (no metrics.jsonl or "
      .. "meta.json) nor a sweep directory (no sweep.json)" or "does not exist"
    return nil, ("report: %s %s; give a directory that `modlab run` or `modlab sweep` "
      .. "wrote"):format(dir, what), 2
  end
  local warnings = {}
  local data, err
  if kind == "sweep" then data, err = require("modlab.report.sweep").load(dir, warnings)
  else data = require("modlab.report.run").load(dir, warnings) end
  if not data then return nil, "report: " .. err, 1 end
  data.warnings = warnings
  data.generated = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local text = page(data)
  local core = require "modlab.core"
  local path = dir .. "/report.html"
  if core.C.ml_file_write_atomic(path, text, #text, core.err) ~= 0 then
    return nil, "report: " .. core.errmsg(), 1
  end
  return path
end

-- `modlab report DIR...`
-- `modlab report DIR...`; o: the parsed options (cli/commands.lua).
function M.cmd(o)
  local dirs = o.dirs
  local status = 0
  for _, dir in ipairs(dirs) do
    local path, err, code = M.write(dir)
    if path then print("report: " .. path)
    else
      io.stderr:write("modlab: error: ", err, "\n")
      status = math.max(status, code)
    end
  end
  return status
end

return M
