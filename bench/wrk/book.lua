dofile(os.getenv("BENCH_DIR") .. "/common.lua")
-- Each line: token doctorId startsAt. Thread i takes lines i, i+T, i+2T … so that no two requests
-- ever ask for the same slot, and one patient is never asked twice for one time.
-- BENCH_SLOTS: another file of such lines (`book_hooked` books slots of its own).
local slots = read_lines(os.getenv("BENCH_DATA") .. "/" .. (os.getenv("BENCH_SLOTS") or "slots.txt"))
local threads_n = tonumber(os.getenv("BENCH_THREADS"))
local n = 0
function request()
  local line = slots[(n * threads_n + id - 1) % #slots + 1]
  n = n + 1
  local token, doctor, starts = string.match(line, "(%S+) (%S+) (%S+)")
  local body = gql_body('"mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id startsAt } }"',
    '{"i":{"doctorId":"' .. doctor .. '","startsAt":"' .. starts .. '","reasonForVisit":"Benchmark"}}')
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
