// "naive Nest + axios": the straightforward card implementation of a gateway, the peer to beat:
// a catch-all controller that forwards with axios (default agent, JSON parsed and re-sent).
import axios from 'axios';
import { serveNest } from './nest-app.mjs';

const upstream = process.env.UPSTREAM_URL;

await serveNest('NaiveAxiosProxy', 'all', async function proxy(req, res) {
  try {
    const { host: _host, ...headers } = req.headers;
    const response = await axios.request({
      method: req.method,
      url: upstream + req.originalUrl,
      headers,
      data: req.body,
      validateStatus: () => true,
    });
    res.status(response.status).send(response.data);
  } catch {
    res.status(502).send({ message: 'Bad Gateway' });
  }
});
