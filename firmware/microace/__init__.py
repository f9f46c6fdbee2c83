"""microace: an offline ACE-OAuth resource server. VERSION must equal the host tools' version
(`microace --version`): provisioning and deploy refuse a board whose firmware differs."""

VERSION = "0.1.0"
