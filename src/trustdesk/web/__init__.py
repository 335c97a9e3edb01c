"""The web faces of Trustdesk: the JSON API today; portal, console and public pages to come."""
