-- wrk script of the real-Envoy benchmark (bench/envoy): host example.com, 10 paths x 10 query
-- strings x 3 methods, cycled in a fixed order (300 distinct requests, 30 series once the sender
-- strips the query). Requests are pre-formatted once per thread so wrk's own cost stays flat.
local methods = { "GET", "POST", "PUT" }
local requests = {}
local index = 0

function init(args)
  for p = 0, 9 do
    for q = 0, 9 do
      for m = 1, 3 do
        local path = string.format("/api/v1/item%d?page=%d&sort=name", p, q)
        requests[#requests + 1] = wrk.format(methods[m], path, { ["Host"] = "example.com" })
      end
    end
  end
end

function request()
  index = index % #requests + 1
  return requests[index]
end
