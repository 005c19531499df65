-- The screen's query (screen.lua) for patients who have no appointment (issue 25's empty list):
-- what it costs is the request, the login and the statements, not the rows.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local tokens = read_lines(os.getenv("BENCH_DATA") .. "/empty_tokens.txt")
local query = '"{ appointments(first: 20) { totalCount pageInfo { hasNextPage } edges { node { id startsAt status reasonForVisit doctor { id firstName lastName email doctorProfile { specialty } } patient { id firstName lastName email } } } } }"'
local n = 0
function request()
  n = n + 1
  local t = tokens[(id * 31 + n) % #tokens + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t },
    gql_body(query))
end
function response(status, headers, body)
  check(status, body)
  -- Each answer must be the empty page with its total of 0.
  if status == 200 and not string.find(body, '"totalCount":0', 1, true) then
    failed = failed + 1
  end
end
