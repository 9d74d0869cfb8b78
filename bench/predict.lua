-- wrk script: POST one image as multipart/form-data to the predictions endpoint.
-- usage: IMAGE=path/to/image.jpg wrk -t2 -c16 -d15s --latency -s bench/predict.lua \
--          http://localhost:PORT/api/v1/models/<id>/predictions
local path = os.getenv("IMAGE") or "bench.jpg"
local f = assert(io.open(path, "rb"))
local image = f:read("*all")
f:close()
local boundary = "----wrk-bench-7MA4YWxkTrZu0gW"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"image\"; filename=\"bench.jpg\"\r\n"
  .. "Content-Type: image/jpeg\r\n\r\n" .. image .. "\r\n"
  .. "--" .. boundary .. "--\r\n"

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local lat = function(p) return latency:percentile(p) / 1000.0 end
  io.write(string.format("RESULT rps=%.2f p50_ms=%.1f p99_ms=%.1f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), lat(50), lat(99), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout))
end
