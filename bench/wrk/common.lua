-- Shared by every workload: each response body is checked, and a GraphQL error (or a non-200)
-- counts as a failure. Per-thread counters are summed in done().
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

checked, failed, failures_sample = 0, 0, ""

function check(status, body)
  checked = checked + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failed = failed + 1
    if failed <= 3 then
      failures_sample = failures_sample .. string.sub(body, 1, 160) .. " | "
    end
  end
end

function response(status, headers, body)
  check(status, body)
end

function done(summary, latency, requests)
  local c, f, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + t:get("checked")
    f = f + t:get("failed")
    local s = t:get("failures_sample")
    if s and #sample < 400 then sample = sample .. s end
  end
  io.write(string.format("BENCH checked=%d failed=%d p50_us=%d p99_us=%d\n",
    c, f, latency:percentile(50), latency:percentile(99)))
  if f > 0 then io.write("BENCH sample=" .. sample .. "\n") end
end

function read_lines(path)
  local out = {}
  for line in io.lines(path) do table.insert(out, line) end
  return out
end

function gql_body(query, variables)
  return '{"query":' .. query .. ',"variables":' .. (variables or "{}") .. '}'
end
