-- Cache-cold story pages for wrk: every request asks for a different story.
--
-- BENCH_PATHS names a file of URL paths, one per line; BENCH_THREADS is wrk's -t. Each
-- thread walks the list from its own starting point, so until the list wraps round no path
-- is asked for twice. A response whose X-Query-Count is above 0 was built by Django (a
-- cache miss); one with 0 came from the page cache. done() prints the totals.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  local count = tonumber(os.getenv("BENCH_THREADS") or "1")
  position = math.floor(id * #paths / count) + 1
  built, answered = 0, 0
end

function request()
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  answered = answered + 1
  if (tonumber(headers["X-Query-Count"] or "0") or 0) > 0 then
    built = built + 1
  end
end

function done(summary, latency, requests)
  local b, a = 0, 0
  for _, thread in ipairs(threads) do
    b = b + thread:get("built")
    a = a + thread:get("answered")
  end
  io.write(string.format("cache-misses %d of %d\n", b, a))
end
