# Baseline: as many terraform_data resources as the benchmark fleet has
# resources, in the same dependency shape (device, then its modules, twins
# and routes), to measure Terraform's own overhead.

variable "devices" {
  type    = number
  default = 200
}

locals {
  ids   = toset([for i in range(var.devices) : format("bench-gw-%04d", i)])
  pairs = toset([for p in setproduct(local.ids, ["sensor", "filter", "forwarder"]) : "${p[0]}/${p[1]}"])
  route = toset([for p in setproduct(local.ids, ["sensor-to-filter", "filter-to-upstream"]) : "${p[0]}/${p[1]}"])
}

resource "terraform_data" "gw" {
  for_each = local.ids
  input    = { device_id = each.key, tags = { fleet = "bench" } }
}

resource "terraform_data" "m" {
  for_each = local.pairs
  input    = { device_id = terraform_data.gw[split("/", each.key)[0]].output.device_id, name = each.key }
}

resource "terraform_data" "t" {
  for_each = local.pairs
  input    = { module = terraform_data.m[each.key].output.name, desired = jsonencode({ interval_ms = 1000 }) }
}

resource "terraform_data" "r" {
  for_each = local.route
  input    = { device_id = terraform_data.gw[split("/", each.key)[0]].output.device_id, name = each.key }
}
