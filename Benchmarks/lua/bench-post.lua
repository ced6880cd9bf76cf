-- The HTTP benchmark's POST: a CodeCarbon-shaped emission sample (~600 bytes of JSON), the same for every peer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"timestamp":"2026-11-29T10:00:00+00:00","run_id":"0b5cfd0e-6b9d-4b2e-9d8e-3a2f6d1c9e01",' ..
  '"experiment_id":"5b0fa12a-3dd7-45bb-9766-cc326314d9f1","duration":15.002345,"emissions_sum":0.000123456789,' ..
  '"emissions_rate":0.0000082291,"cpu_power":42.5,"gpu_power":211.75,"ram_power":8.8,"cpu_energy":0.000177083,' ..
  '"gpu_energy":0.000882291,"ram_energy":0.0000366666,"energy_consumed":0.0010960406,"water_consumed":0.0,' ..
  '"cpu_utilization_percent":37.5,"gpu_utilization_percent":88.25,"ram_utilization_percent":40.1,' ..
  '"ram_used_gb":9.4,"wue":0,"country_name":"France","country_iso_code":"FRA","region":"ile-de-france",' ..
  '"on_cloud":false,"tracking_mode":"machine","pue":1.0}'
