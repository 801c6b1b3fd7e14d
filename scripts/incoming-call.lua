-- wrk script: replays signed incoming_call requests, each a new call, from the file the benchmark
-- `webhook-requests` writes (signature, idempotency token, form body per line). Each wrk thread takes every
-- n-th line (n: wrk's -t, given again), starting past the first <offset> lines (a later run uses calls an earlier
-- one has not):
--   wrk -t2 -c64 -d15s -s scripts/incoming-call.lua http://localhost:6080 -- <file> 2 <offset>
-- Prints p50/p99, the answers that were not 200 (Twilio counts any of those as a failed webhook) and those the Api
-- shed (X-AgentLocator-Shed: valid TwiML at once, the call row written later), and the rate served in full.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file, stride, offset = args[1], tonumber(args[2] or "1"), tonumber(args[3] or "0")
  requests, index, failed, shed = {}, 0, 0, 0
  local line_number = 0
  for line in io.lines(file) do
    if line_number >= offset and line_number % stride == id then
      local signature, token, body = line:match("([^\t]+)\t([^\t]+)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", "/webhook/incoming_call", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
        ["I-Twilio-Idempotency-Token"] = token,
      }, body)
    end
    line_number = line_number + 1
  end
end

function request()
  index = index + 1
  if index > #requests then
    error("out of requests: write more with webhook-requests --count, or start at a smaller offset")
  end
  return requests[index]
end

function response(status, headers)
  if status ~= 200 then
    failed = failed + 1
  elseif headers["X-AgentLocator-Shed"] then
    shed = shed + 1
  end
end

function done(summary, latency)
  local failed_total, shed_total = 0, 0
  for _, thread in ipairs(threads) do
    failed_total = failed_total + thread:get("failed")
    shed_total = shed_total + thread:get("shed")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("incoming_call closed loop: %d requests, %.0f/s, p50 %.2f ms, p99 %.2f ms, shed %d, non-200 %d, socket errors %d, in full %.0f/s\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, shed_total,
    failed_total, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    (summary.requests - shed_total - failed_total) / seconds))
end
