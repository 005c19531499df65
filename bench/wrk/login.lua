dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local emails = read_lines(os.getenv("BENCH_DATA") .. "/emails.txt")
local password = os.getenv("BENCH_PASSWORD")
local n = 0
function request()
  n = n + 1
  local e = emails[(id * 104729 + n) % #emails + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
    gql_body('"mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"',
      '{"e":"' .. e .. '","p":"' .. password .. '"}'))
end
