dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local tokens = read_lines(os.getenv("BENCH_DATA") .. "/tokens.txt")
local n = 0
function request()
  n = n + 1
  local t = tokens[(id * 7919 + n) % #tokens + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t },
    '{"query":"{ me { id email firstName lastName role } }"}')
end
