-- wrk script for bench/submit_throughput.py: multipart submissions, each request with the next
-- student's token in turn; each thread keeps the id of every 202, which done() writes (with the
-- status counts and latency percentiles) to $WRK_REPORT.
--
--   WRK_REPORT=report wrk -t1 -c32 -d20s -s bench/submit.lua URL -- TOKENS_FILE UPLOAD_FILE

local BOUNDARY = "torchgrade-bench-boundary"
local threads = {}
local prepared, turn

function setup(thread)
  table.insert(threads, thread)
end

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function multipart(content)
  return "--" .. BOUNDARY .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="hw.py"\r\n'
    .. "Content-Type: text/x-python\r\n\r\n" .. content .. "\r\n--" .. BOUNDARY .. "--\r\n"
end

function init(args)
  local body = multipart(read(args[2]))
  prepared, turn = {}, 0
  for token in read(args[1]):gmatch("[^\n]+") do
    table.insert(prepared, wrk.format("POST", nil, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "multipart/form-data; boundary=" .. BOUNDARY,
    }, body))
  end
  statuses, accepted = {}, {}
end

function request()
  turn = turn % #prepared + 1
  return prepared[turn]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 202 then
    table.insert(accepted, body:match('"id":(%d+)'))
  end
end

function done(summary, latency, requests)
  local report = assert(io.open(os.getenv("WRK_REPORT"), "w"))
  report:write(string.format("duration_us %d\n", summary.duration))
  for _, p in ipairs({50, 90, 99}) do
    report:write(string.format("latency_p%d_us %d\n", p, latency:percentile(p)))
  end
  report:write(string.format("latency_max_us %d\n", latency.max))
  for name, count in pairs(summary.errors) do
    report:write(string.format("error_%s %d\n", name, count))
  end
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      report:write(string.format("status_%s %d\n", status, count))
    end
    for _, id in ipairs(thread:get("accepted")) do
      report:write("accepted " .. id .. "\n")
    end
  end
  report:close()
end
