"""Channel adapters: SMS, USSD, kiosk and web turn their wire formats into submissions."""
