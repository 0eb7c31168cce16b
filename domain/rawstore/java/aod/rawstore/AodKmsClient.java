/*
 * Parquet KMS client of the aod raw store (domain/rawstore): lets Spark decrypt the store's
 * Parquet modular encryption in memory. The per-dataset data key arrives in the read options
 * (aod.rawstore.key.list = "keyId:base64key"), never from disk; it unwraps the file's data
 * encryption key exactly as parquet-mr's KeyToolkit.encryptKeyLocally wrapped it (AES-GCM,
 * nonce || ciphertext || tag, associated data = the key id). Read-only: wrapKey refuses.
 */
package aod.rawstore;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.keytools.KeyToolkit;
import org.apache.parquet.crypto.keytools.KmsClient;

public class AodKmsClient implements KmsClient {
  public static final String KEY_LIST = "aod.rawstore.key.list";
  private final Map<String, byte[]> keys = new HashMap<>();

  @Override
  public void initialize(Configuration conf, String kmsInstanceID, String kmsInstanceURL, String accessToken) {
    String list = conf.getTrimmed(KEY_LIST, "");
    for (String entry : list.split(",")) {
      int colon = entry.indexOf(':');
      if (colon > 0) {
        keys.put(entry.substring(0, colon).trim(), Base64.getDecoder().decode(entry.substring(colon + 1).trim()));
      }
    }
  }

  @Override
  public String wrapKey(byte[] keyBytes, String masterKeyIdentifier) throws KeyAccessDeniedException {
    throw new KeyAccessDeniedException("the aod raw store is written by the domain, never by an engine");
  }

  @Override
  public byte[] unwrapKey(String wrappedKey, String masterKeyIdentifier) throws KeyAccessDeniedException {
    byte[] key = keys.get(masterKeyIdentifier);
    if (key == null) {
      throw new KeyAccessDeniedException("no data key given for this dataset");
    }
    return KeyToolkit.decryptKeyLocally(wrappedKey, key, masterKeyIdentifier.getBytes(StandardCharsets.UTF_8));
  }
}
