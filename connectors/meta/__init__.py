"""Meta channels: WhatsApp Cloud API (`whatsapp`) and Facebook Messenger (`messenger`), one shared package."""
