resource "edgeplane_registry_credential" "local" {
  device_id = edgeplane_device.gw.device_id
  name      = "local"
  server    = "registry.local:5000"
  username  = "puller"
  password  = var.registry_password
}
