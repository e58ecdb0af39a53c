"""`slack` channel: customers write in a shop's Slack workspace or Slack Connect channel."""
