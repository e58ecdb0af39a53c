"""HTTP handlers of the JSON API (`/api/v1`) and the console pages."""
