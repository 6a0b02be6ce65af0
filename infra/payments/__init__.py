"""Payment providers behind `domain.payment.PaymentProvider`."""
