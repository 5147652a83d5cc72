"""Where recordings come from: a local folder standing in for Teams, or Microsoft Graph."""
