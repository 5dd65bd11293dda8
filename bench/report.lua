-- wrk script for bench/run.py: per-request bodies from a file (each sent once), an
-- optional capture of refresh tokens from responses, and a JSON summary at the end.
-- args: bodies_file ("" for none), total_threads, capture_prefix ("" for none)
local threads = {}
local index = 0

function setup(thread)
  thread:set("thread_index", index)
  index = index + 1
  table.insert(threads, thread)
end

function init(args)
  exhausted = 0
  bodies = nil
  local file, nthreads, capture = args[1], tonumber(args[2] or "1"), args[3]
  if file ~= nil and file ~= "" then
    bodies, i = {}, 0
    for line in io.lines(file) do
      if i % nthreads == thread_index then table.insert(bodies, line) end
      i = i + 1
    end
    next_body = 0
  end
  if capture ~= nil and capture ~= "" then
    out = io.open(capture .. thread_index, "w")
  end
end

function request()
  if bodies ~= nil then
    next_body = next_body + 1
    local body = bodies[next_body]
    if body == nil then
      exhausted = exhausted + 1
      return wrk.format("GET", "/bench/null", {}, nil)
    end
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format(nil)
end

function response(status, headers, body)
  if out ~= nil then
    local token = string.match(body, '"refresh_token": *"([^"]+)"')
    if token ~= nil then out:write(token, "\n"); out:flush() end
  end
end

function done(summary, latency, requests)
  local ran_out = 0
  for _, thread in ipairs(threads) do ran_out = ran_out + (thread:get("exhausted") or 0) end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d, "exhausted": %d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), ran_out))
end
