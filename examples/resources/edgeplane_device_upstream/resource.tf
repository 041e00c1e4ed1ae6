resource "edgeplane_device_upstream" "gw" {
  device_id                    = edgeplane_device.gw.device_id
  url                          = "mqtts://broker.example.com:8883"
  username                     = "berlin-gw-1"
  password                     = var.broker_password
  ca_certificate               = file("broker-ca.pem")
  default_time_to_live_seconds = 7200
  max_queue_bytes              = 536870912
}
