"""Sign-up and sign-in as use cases: the one floor above accounts and the apps that give a
new account something (credits, ...). No models: it calls their services."""
