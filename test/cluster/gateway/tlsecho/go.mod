module prenv.test/tlsecho

go 1.26
