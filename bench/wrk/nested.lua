dofile(os.getenv("BENCH_DIR") .. "/common.lua")
-- Tokens of the 20 patients who have exactly 20 appointments each (empty.lua: of patients who
-- have none, with `page_rows` 0).
local tokens = read_lines(os.getenv("BENCH_DATA") .. "/" .. (page_tokens or "busy_tokens.txt"))
local rows = page_rows or 20
-- screen.lua sets `page_query` and `page_total` (empty.lua, through it, also `page_tokens` and
-- `page_rows`) before running this script.
local query = page_query or '"{ appointments(first: 20) { edges { node { id startsAt status doctor { id firstName lastName email doctorProfile { specialty } } patient { id firstName lastName email } } } } }"'
local n = 0
function request()
  n = n + 1
  local t = tokens[(id * 31 + n) % #tokens + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t },
    gql_body(query))
end
function response(status, headers, body)
  check(status, body)
  -- Each answer must hold the 20 appointments, or none (and, asked for, their total).
  local _, count = string.gsub(body, '"startsAt"', "")
  if status == 200 and (count ~= rows or (page_total and not string.find(body, '"totalCount":' .. rows, 1, true))) then
    failed = failed + 1
  end
end
