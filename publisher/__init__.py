"""Where insights go: opportunity resolution and the Dynamics 365 (Dataverse) timeline activity."""
