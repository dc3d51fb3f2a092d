-- A request mix for wrk, checked answer by answer.
-- Script arguments: a file of request paths, one per line ("R <n> <path>": a Range request for
-- bytes 0..n-1, which must answer 206 with exactly n bytes); every other answer must be 200
-- with a Subsonic envelope whose status is ok. done() prints "mix: ok=N bad=M" and samples.
local reqs, ranged = {}, {}
local i = 0
ok, bad, sample = 0, 0, ""

init = function(args)
  for line in io.lines(args[1]) do
    local n, path = line:match("^R (%d+) (.*)$")
    if n then
      table.insert(reqs, wrk.format("GET", path, { Range = "bytes=0-" .. (tonumber(n) - 1) }))
      ranged[tonumber(n)] = true
    else
      table.insert(reqs, wrk.format("GET", line))
    end
  end
  i = math.random(#reqs)
end

request = function()
  i = i % #reqs + 1
  return reqs[i]
end

response = function(status, headers, body)
  local good
  if status == 206 then
    good = ranged[#body] == true
  else
    good = status == 200 and body:find('"status":"ok"', 1, true) ~= nil
  end
  if good then
    ok = ok + 1
  else
    bad = bad + 1
    if #sample < 600 then
      sample = sample .. status .. " " .. body:sub(1, 200):gsub("\n", " ") .. " | "
    end
  end
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total_ok, total_bad, samples = 0, 0, ""
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
    samples = samples .. t:get("sample")
  end
  io.write(string.format("mix: ok=%d bad=%d p50_us=%d p99_us=%d\n", total_ok, total_bad,
    latency:percentile(50), latency:percentile(99)))
  if total_bad > 0 then io.write("mix-sample: " .. samples .. "\n") end
end
