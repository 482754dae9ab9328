-- What the programme needs to know of a partner besides name and company:
-- a phone to reach them, their country, and the currency they work in
-- (ISO 3166-1 alpha-2 and ISO 4217 codes; the app names them in the
-- reader's language). A profile is done when all are there.
ALTER TABLE accounts
    ADD COLUMN phone    text NOT NULL DEFAULT ''
        CONSTRAINT accounts_phone_shape CHECK (length(phone) <= 32),
    ADD COLUMN country  text CONSTRAINT accounts_country_shape CHECK (country ~ '^[A-Z]{2}$'),
    ADD COLUMN currency text CONSTRAINT accounts_currency_shape CHECK (currency ~ '^[A-Z]{3}$');

-- A photo of the person: a small square image the app makes on the device
-- (a 256-pixel JPEG is a few tens of kilobytes), 256 KiB at most.
ALTER TABLE accounts
    ADD COLUMN photo      bytea CONSTRAINT accounts_photo_size CHECK (length(photo) <= 262144),
    ADD COLUMN photo_type text CONSTRAINT accounts_photo_type_known
        CHECK (photo_type IN ('image/jpeg', 'image/png', 'image/webp')),
    ADD CONSTRAINT accounts_photo_has_type CHECK ((photo IS NULL) = (photo_type IS NULL));
