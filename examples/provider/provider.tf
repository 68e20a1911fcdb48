terraform {
  required_providers {
    slipway = {
      source = "slipway-dev/slipway"
    }
  }
}

# The provider needs no settings yet.
provider "slipway" {}
