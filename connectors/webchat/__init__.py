"""`webchat` channel: the embeddable widget's frames in, agent replies out to the visitor's sockets."""
