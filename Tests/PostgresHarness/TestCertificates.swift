/// Certificates and keys for the TLS tests (P-256, valid until 2126), made once with openssl for
/// these tests only: one copy for every suite that needs a certificate file.
public enum TestCertificates {
    /// A CA and a server certificate it signed for 127.0.0.1 (P-256, valid until 2126).
    public static let ca = """
        -----BEGIN CERTIFICATE-----
        MIIBnzCCAUWgAwIBAgIUD16EIagje0KReEh2OyUnPLHa1oAwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxMDUzWhgP
        MjEyNjExMTEwODEwNTNaMBwxGjAYBgNVBAMMEW1pc2RpcmVjdCB0ZXN0IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkRelSBKRk56oLY8fivRQLi/3EI8czyi0
        0h0E9r/M/PJICnIqKkXKzaCd2J+trUFXw1ni9PcMXo4+spPattH5qaNjMGEwHQYD
        VR0OBBYEFHriQgWFClXFQ1IqsKxmb4in3giEMB8GA1UdIwQYMBaAFHriQgWFClXF
        Q1IqsKxmb4in3giEMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoG
        CCqGSM49BAMCA0gAMEUCIQCs86NSSvh6FLSeR9jdetj4UvmIpCOYDad1CvmZ4cBB
        ZAIgOwf2sG6Ymf9Q7dMJFup1PmHFfbIXhjhZX82bVYoWQMw=
        -----END CERTIFICATE-----

        """
    public static let serverCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBsTCCAVigAwIBAgIUM7POZ1+AX6noNqxCGwTOWLFbrcgwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxMDUzWhgP
        MjEyNjExMTEwODEwNTNaMBQxEjAQBgNVBAMMCTEyNy4wLjAuMTBZMBMGByqGSM49
        AgEGCCqGSM49AwEHA0IABGXuwQK+vvCzLpfm9ieKGyhiHtF26WF1sRNR/aJ7wYOu
        oeUkVYEaigowJPQ95viiKrmNY1LNHuvdd5bUSxlnSqSjfjB8MBoGA1UdEQQTMBGH
        BH8AAAGCCWxvY2FsaG9zdDAJBgNVHRMEAjAAMBMGA1UdJQQMMAoGCCsGAQUFBwMB
        MB0GA1UdDgQWBBTes3zdyl1AzOvfSxeYnmlceZ0JATAfBgNVHSMEGDAWgBR64kIF
        hQpVxUNSKrCsZm+Ip94IhDAKBggqhkjOPQQDAgNHADBEAiA1RF1g0MjgA99T+Qsc
        mkJ2ng5zI625mdmlQ5izN73vngIgXPzas+nhIKzoFHwM3abvDuuw1Jrh9EgBDDEJ
        uDJD1Lk=
        -----END CERTIFICATE-----

        """
    public static let serverKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3TcuQzsJwd6Wrr2d
        lH2wzXHwNgtOdXERyQmkCIgqY+KhRANCAARl7sECvr7wsy6X5vYnihsoYh7Rdulh
        dbETUf2ie8GDrqHlJFWBGooKMCT0Peb4oiq5jWNSzR7r3XeW1EsZZ0qk
        -----END PRIVATE KEY-----

        """
    /// Another CA's self-signed certificate, which signed nothing the server shows.
    public static let otherCA = """
        -----BEGIN CERTIFICATE-----
        MIIBiTCCAS+gAwIBAgIUHB5mFl7e8gl3mIFv8tOjulgvsLIwCgYIKoZIzj0EAwIw
        GTEXMBUGA1UEAwwObWlzZGlyZWN0LXRlc3QwIBcNMjYxMjA1MDgwMTM4WhgPMjEy
        NjExMTEwODAxMzhaMBkxFzAVBgNVBAMMDm1pc2RpcmVjdC10ZXN0MFkwEwYHKoZI
        zj0CAQYIKoZIzj0DAQcDQgAETK5RfvNwMeq8poV2d+dwhlSUh9SE45AQriMygkJH
        1u1V9eP1/WD/b93qvvUu0MUbOUuPmDr6GlRBAU4fcQGqfaNTMFEwHQYDVR0OBBYE
        FD7BVeQySKgv03pLFuD7/N6tybNuMB8GA1UdIwQYMBaAFD7BVeQySKgv03pLFuD7
        /N6tybNuMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgUPvZHFxf
        8LflBn8QMDqeCJyUiN6B/UbjiIxyQT6sWv4CIQDzZB+AohOslx1bOfCezIrTSSVO
        zYB/3j2sKzO/DAd0DA==
        -----END CERTIFICATE-----

        """

    /// A client certificate (CN postgres) the same CA signed, and its key.
    public static let clientCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBlDCCATugAwIBAgIUM7POZ1+AX6noNqxCGwTOWLFbrckwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxOTIzWhgP
        MjEyNjExMTEwODE5MjNaMBMxETAPBgNVBAMMCHBvc3RncmVzMFkwEwYHKoZIzj0C
        AQYIKoZIzj0DAQcDQgAE2sjVZIkbyd9xHf7Rt42yMF713rqkP77suvCnNgNcSMFu
        5xIgcF9QchdGLhFYyRilNj4zhmnEH1vlN0BdEjRVM6NiMGAwCQYDVR0TBAIwADAT
        BgNVHSUEDDAKBggrBgEFBQcDAjAdBgNVHQ4EFgQUtfBVjCxoR+Bh1o/C+OnpYYTy
        398wHwYDVR0jBBgwFoAUeuJCBYUKVcVDUiqwrGZviKfeCIQwCgYIKoZIzj0EAwID
        RwAwRAIgDJpHWzTRbNZP5GgzdBLDCRNso9TgsLvyLCXYZKe9NJwCIDbwAnnNVXZM
        0hdlhNlOFqwQvGaAwj1ARpZyR/n69Y3V
        -----END CERTIFICATE-----

        """
    public static let clientKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg57Ekuy32BmynQkSR
        piSGAB5zL7+Rd2vGRChJBtKcD8ahRANCAATayNVkiRvJ33Ed/tG3jbIwXvXeuqQ/
        vuy68Kc2A1xIwW7nEiBwX1ByF0YuEVjJGKU2PjOGacQfW+U3QF0SNFUz
        -----END PRIVATE KEY-----

        """
}
