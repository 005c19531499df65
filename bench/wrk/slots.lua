dofile(os.getenv("BENCH_DIR") .. "/common.lua")
-- availableSlots over 31 days of a filled doctor (issue 22), plain; slots_typed.lua sets `typed`.
local lines = read_lines(os.getenv("BENCH_DATA") .. "/slot_queries.txt")
local range = read_lines(os.getenv("BENCH_DATA") .. "/slot_range.txt")
local threads_n = tonumber(os.getenv("BENCH_THREADS"))
local n = 0
function request()
  local line = lines[(n * threads_n + id - 1) % #lines + 1]
  n = n + 1
  local token, doctor, vt = string.match(line, "(%S+) (%S+) (%S+)")
  local vars = '{"d":"' .. doctor .. '","from":"' .. range[1] .. '","to":"' .. range[2] .. '"'
  if typed then vars = vars .. ',"t":"' .. vt .. '"' end
  local body = gql_body('"query($d: UUID!, $from: DateTime!, $to: DateTime!, $t: UUID) { availableSlots(doctorId: $d, from: $from, to: $to, visitTypeId: $t) { startsAt endsAt } }"',
    vars .. '}')
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
