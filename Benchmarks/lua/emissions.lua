-- wrk script: CodeCarbon-shaped POST /emissions with a project token, spread over many runs.
-- Reads RUNS_FILE (one run id per line) and TOKEN from the environment.
local runs = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("RUNS_FILE")) do runs[#runs + 1] = line end

local thread_count = 0
function setup(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
end

local counter = 0
local headers = { ["Content-Type"] = "application/json", ["x-api-token"] = token }

function request()
  counter = counter + 1
  local run = runs[((counter + (offset or 0)) % #runs) + 1]
  local energy = 0.00001 + (counter % 97) * 1e-7
  local body = string.format(
    '{"timestamp":"%s","run_id":"%s","duration":2,"emissions_sum":%.9f,"emissions_rate":%.12f,' ..
    '"cpu_power":42.5,"gpu_power":0.0,"ram_power":8.8,"cpu_energy":%.9f,"gpu_energy":0.0,"ram_energy":%.9f,' ..
    '"energy_consumed":%.9f,"cpu_utilization_percent":37.5,"gpu_utilization_percent":null,' ..
    '"ram_utilization_percent":40.1,"wue":0}',
    os.date("!%Y-%m-%dT%H:%M:%S+00:00"), run, energy * 0.05, energy * 0.025, energy * 0.8, energy * 0.2, energy)
  return wrk.format("POST", "/emissions", headers, body)
end
