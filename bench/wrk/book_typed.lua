dofile(os.getenv("BENCH_DIR") .. "/common.lua")
-- Booking with a buffered visit type (issue 22). Each line: token doctorId startsAt visitTypeId;
-- thread i takes lines i, i+T, i+2T … (no two requests for one time, one patient never twice at one).
local slots = read_lines(os.getenv("BENCH_DATA") .. "/typed_slots.txt")
local threads_n = tonumber(os.getenv("BENCH_THREADS"))
local n = 0
function request()
  local line = slots[(n * threads_n + id - 1) % #slots + 1]
  n = n + 1
  local token, doctor, starts, vt = string.match(line, "(%S+) (%S+) (%S+) (%S+)")
  local body = gql_body('"mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id startsAt } }"',
    '{"i":{"doctorId":"' .. doctor .. '","startsAt":"' .. starts .. '","reasonForVisit":"Benchmark","visitTypeId":"' .. vt .. '"}}')
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
