"""`sms` channel: Twilio Programmable Messaging (SMS, MMS and Twilio's `whatsapp:` addresses)."""
