-- wrk script: CodeCarbon-shaped POST /emissions with a project token, spread over many runs.
-- Reads RUNS_FILE (one run id per line) and TOKEN from the environment.
-- The requests are formatted once per thread (4,096 distinct bodies: every run, varying energies) and then cycled,
-- so the load generator, which shares the machine with Soot and PostgreSQL, spends its time sending, not in Lua.
local runs = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("RUNS_FILE")) do runs[#runs + 1] = line end

local thread_count = 0
function setup(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
end

local requests = {}
local size = 4096
local counter = 0

function init(args)
  local headers = { ["Content-Type"] = "application/json", ["x-api-token"] = token }
  local timestamp = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
  for i = 1, size do
    local run = runs[((i + (offset or 0)) % #runs) + 1]
    local energy = 0.00001 + (i % 97) * 1e-7
    local body = string.format(
      '{"timestamp":"%s","run_id":"%s","duration":2,"emissions_sum":%.9f,"emissions_rate":%.12f,' ..
      '"cpu_power":42.5,"gpu_power":0.0,"ram_power":8.8,"cpu_energy":%.9f,"gpu_energy":0.0,"ram_energy":%.9f,' ..
      '"energy_consumed":%.9f,"cpu_utilization_percent":37.5,"gpu_utilization_percent":null,' ..
      '"ram_utilization_percent":40.1,"wue":0}',
      timestamp, run, energy * 0.05, energy * 0.025, energy * 0.8, energy * 0.2, energy)
    requests[i] = wrk.format("POST", "/emissions", headers, body)
  end
end

function request()
  counter = counter + 1
  return requests[(counter % size) + 1]
end
